"""The optional C extensions; all metadata is in pyproject.toml.

``sfu._compiled_egress`` speeds up the forwarding hot path (see sfu/compiled_egress.py),
``sfu._compiled_ingress`` the SRTP unprotect and parse of received media (sfu/compiled_ingress.py),
``sfu._compiled_remb`` the per-packet part of the REMB estimator (sfu/remb_estimator.py),
``loadtest._compiled_receive`` the load tester's receive path (loadtest/compiled_receive.py),
``loadtest._compiled_send`` its publishers' per-frame send path (loadtest/compiled_send.py).
They are optional: where they cannot be built (no C compiler, no Python headers) the install
goes on without them and the SFU forwards, the tester receives and sends, through the Python path.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sfu._compiled_egress",
            sources=["sfu/_compiled_egress.c"],
            optional=True,
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
        ),
        Extension(
            "sfu._compiled_ingress",
            sources=["sfu/_compiled_ingress.c"],
            optional=True,
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
        ),
        Extension(
            "sfu._compiled_remb",
            sources=["sfu/_compiled_remb.c"],
            optional=True,
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
        ),
        Extension(
            "loadtest._compiled_receive",
            sources=["loadtest/_compiled_receive.c"],
            depends=["loadtest/_socket_address.h"],
            optional=True,
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
        ),
        Extension(
            "loadtest._compiled_send",
            sources=["loadtest/_compiled_send.c"],
            depends=["loadtest/_socket_address.h"],
            optional=True,
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
        ),
    ]
)
