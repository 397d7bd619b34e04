//! Session tests: the server against scripted clients, and a client–server pair.

mod session;
