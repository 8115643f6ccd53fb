//! Simulated MCS importer (GKE and upstream flavours); built in a later issue.
