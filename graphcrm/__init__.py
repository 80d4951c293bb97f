"""GraphCRM: a graph-based referral and influence explorer for insurance agents and managers."""

__version__ = "0.1.0"
