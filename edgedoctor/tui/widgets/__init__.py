"""The widgets of the diagnosis screen."""
