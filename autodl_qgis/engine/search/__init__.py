"""AutoDL: the BASIC / ADVANCED search under a total time limit, the leaderboard and the report."""
from .autodl import ADVANCED, BASIC, AutoDL, SearchFailed

__all__ = ["ADVANCED", "BASIC", "AutoDL", "SearchFailed"]
