pub mod app;
mod pair;
mod server;
mod updates;
