"""coshop's load tester: synthetic WebRTC peers that join through the real signaling.

Network-only: it never imports the server's packages, so it measures what users feel.
"""
