//! tokio (to come)
