pub mod app;
mod pair;
mod server;
