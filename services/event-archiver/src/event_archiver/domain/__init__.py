"""Pure rules of the archiver: what a received message becomes. No I/O."""
