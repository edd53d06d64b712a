//! The OneDeck desktop app's entry point.

// No console window beside the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    onedeck_lib::run();
}
