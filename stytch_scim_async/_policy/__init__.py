"""Policy: values and pure decisions, the clock injected; no asyncio, aiohttp or tenacity
at import.

`retry` (the retry policy; tenacity is imported only when a call runs), `throttle`
(the retry budget and the adaptive rate limiter), `window` (a fixed window learnt from
429s) and `reconcile` (after an ambiguous create: evidence in, verdict out).
"""
