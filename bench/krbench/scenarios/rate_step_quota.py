"""Scenario rate_step_quota: the rate step of scenario 3 against a bucket that advertises its quota on every
answer (X-RateLimit-*): issue 12 asks for >= 0.9 R within 1 s of each step with the fields, 3 s without."""

from . import rate_step


def run(rig, **params):
    return rate_step.run(rig, advertise="xratelimit", **params)
