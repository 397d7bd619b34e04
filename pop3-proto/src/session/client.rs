//! The client side (to come).
