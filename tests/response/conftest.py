from tests.pds_fixture import pds  # noqa: F401
