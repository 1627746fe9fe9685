"""Administering a study: what to ask (study, plan), how (prompts), reading replies (parsing), the runner.

Nothing here is imported by the stages downstream of the store.
"""
