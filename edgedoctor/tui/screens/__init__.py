"""The screens: the diagnosis, help, the playbook walkthrough and small modals."""
