"""Batch provisioning: the records of a batch (`records`), its proof of absence
(`search`), the runner (`batch`), how a batch left early hands every outcome over
(`handover`) and what it needs of its client (`client`, a protocol)."""
