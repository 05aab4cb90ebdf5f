//! The web UI in a real headless Chromium (Debian `chromium` + `chromium-driver`, driven over
//! WebDriver by fantoccini). Screenshots of the main pages are saved under
//! `target/ui-screenshots/` (at 1366 px and 390 px wide). The test command installs Chromium when it is missing; without it
//! these tests fail, they are never skipped.

mod accounts;
mod calendar;
mod checks;
mod custody_check;
mod equipment;
mod flows;
mod harness;
mod labels_and_log;
mod lists;
mod person_page;
mod rooms;
mod walkthrough;
