//! Daemon role: spawns nodes, routes messages, runs timers.
