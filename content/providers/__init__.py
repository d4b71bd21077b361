"""Model providers: text models, image sources and research sources behind small interfaces.

`base` defines what each kind must do; each real provider is one module; `registry` picks the
implementation for a catalog entry or a configured source. Errors are classified here, at the
boundary, as `tasks.exceptions.TransientError` or `PermanentError`, so the engine knows whether
to retry.
"""
