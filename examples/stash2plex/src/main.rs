//! The stash2plex daemon (wired once the daemon builder lands).

fn main() {}
