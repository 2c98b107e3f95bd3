"""The one library every TaskOverflow service installs: the message contract and its plumbing."""
