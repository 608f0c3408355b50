"""The optional C extension; all metadata is in pyproject.toml.

``sfu._compiled_egress`` speeds up the forwarding hot path (see sfu/compiled_egress.py).
It is optional: where it cannot be built (no C compiler, no Python headers) the install
goes on without it and the SFU forwards through the Python path.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sfu._compiled_egress",
            sources=["sfu/_compiled_egress.c"],
            optional=True,
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ]
)
