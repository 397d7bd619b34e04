pub mod app;
mod contexts;
mod pair;
mod server;
mod updates;
