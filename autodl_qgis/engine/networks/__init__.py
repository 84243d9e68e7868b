"""The network zoo: a registry of small specs, built through one adapter per library."""
from .registry import NETWORKS, NetworkSpec, UnsupportedNetworkError, build_network, networks_for

__all__ = ["NETWORKS", "NetworkSpec", "UnsupportedNetworkError", "build_network", "networks_for"]
