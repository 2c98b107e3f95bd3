"""Pure rules of the archiver: what a received message becomes, and when a batch is due. No I/O."""
