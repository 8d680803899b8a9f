"""The `:` command palette: switch context, re-check, open a playbook, save a recording."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class EdgeDoctorCommands(Provider):
    async def startup(self) -> None:
        from edgedoctor.tui.session import kube_contexts

        main = getattr(self.app, "main_screen", None)
        kubeconfig = main.checker.base.kubeconfig if main is not None else None
        # PyYAML only: listing contexts never loads the kubernetes client.
        self.contexts, self.current = kube_contexts(kubeconfig)

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        main = getattr(self.app, "main_screen", None)
        if main is None:
            return []
        out: list[tuple[str, Callable[[], object], str]] = [
            ("Re-check the host", main.action_recheck, "ctrl+r: run the diagnosis again"),
            ("Save recording…", main.action_save_recording, "write this check's evidence to a file you name"),
        ]
        seen: set[str] = set()
        for playbook, code in main.playbook_choices():
            seen.add(playbook)
            out.append((f"Open playbook: {playbook}", partial(main.open_playbook, playbook, code), f"for {code}"))
        from edgedoctor.tui.walk import available_playbooks

        for p in available_playbooks():
            pid = str(p.get("id"))
            if pid not in seen:
                out.append((f"Open playbook: {pid}", partial(main.open_playbook, pid, None), str(p.get("title") or "")))
        for name in self.contexts:
            mark = " (current)" if name == self.current else ""
            out.append((f"Switch context: {name}", partial(main.switch_context, name), f"read live from kubeconfig context {name}{mark}"))
        out.append(("Help: the keys", self.app.action_help, "?"))
        out.append(("Quit", self.app.action_quit_app, "q"))
        if not self.contexts:
            out.append(("Switch context: none found", partial(main.notify, "no kubeconfig context found (KUBECONFIG, ~/.kube/config, --kubeconfig)", severity="warning"), "no kubeconfig"))
        return out

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
