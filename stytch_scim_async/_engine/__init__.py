"""The engine both clients share: one call's attempts under the policies (`engine`),
send pacing per endpoint group (`pacing`), per-organization exclusivity (`locks`),
what a create has sent and received (`receipt`), the careful create and rotation paths
(`recovery`, `rotations`) and the last resort for a token nobody can take (`unclaimed`).
"""
