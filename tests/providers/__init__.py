"""Tests of the provider adapters, the mock transport, error mapping and pricing."""
