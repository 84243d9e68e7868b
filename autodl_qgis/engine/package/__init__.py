"""Model packages: the .emd model definition and the .dlpk zip, written atomically and read safely."""
from .dlpk import ModelPackage, open_package, write_package
from .emd import build_model_definition, validate_model_definition

__all__ = ["ModelPackage", "build_model_definition", "open_package", "validate_model_definition", "write_package"]
