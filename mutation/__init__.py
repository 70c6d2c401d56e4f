"""``make mutate``'s report: mutation scores per package, against the known equivalent mutants.

``python -m mutation`` reads the results of the last ``mutmut run`` and needs
nothing of exllm_py itself.
"""
