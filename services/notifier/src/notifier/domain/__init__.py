"""Pure notification rules: who wants which event, how it is signed, where we may connect. No I/O."""
