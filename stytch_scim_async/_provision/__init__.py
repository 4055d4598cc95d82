"""Batch provisioning: the records of a batch (`records`), its proof of absence
(`search`), the runner (`batch`) and how a batch left early hands every outcome over
(`handover`)."""
