"""The Git side: a state directory read, checked and resolved into the desired State.

Modules import in one direction (docs/architecture.md draws it): yamlread, models -> load
-> expiry -> index -> checks -> resolve -> pipeline, whose `load_desired` and `Desired` are
the package's face."""

from reconciler.desired.pipeline import Desired, load_desired

__all__ = ["Desired", "load_desired"]
