"""The static browser client (no build step, ES modules), served by signaling."""
