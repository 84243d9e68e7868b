"""AutoDL: the BASIC / ADVANCED search under a total time limit, the leaderboard and the report."""
from .autodl import ADVANCED, BASIC, AutoDL, SearchFailed
from .config import CandidateJob, CandidateResult, SearchConfig

__all__ = ["ADVANCED", "BASIC", "AutoDL", "CandidateJob", "CandidateResult", "SearchConfig", "SearchFailed"]
