"""Fakes of the remote scheduling APIs, built from shared/reference/ and used through httpx.MockTransport."""
