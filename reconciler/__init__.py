"""GitOps reconciler for Google Workspace identities."""

__version__ = "0.1.0"
