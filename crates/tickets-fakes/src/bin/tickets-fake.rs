//! `tickets-fake asana|bugzilla|salesforce [--port N]`: serves a seeded fake, prints one JSON
//! line with its base URL and credentials, and runs until killed.

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Vendor {
    Asana,
    Bugzilla,
    Salesforce,
}

/// Serve a fake vendor API on 127.0.0.1 for trying `tickets` without an account.
#[derive(Debug, Parser)]
#[command(name = "tickets-fake", version)]
struct Args {
    /// Which vendor to emulate.
    vendor: Vendor,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let started = match args.vendor {
        Vendor::Asana => tickets_fakes::asana::start_seeded(args.port).await,
        Vendor::Bugzilla => tickets_fakes::bugzilla::start_seeded(args.port).await,
        Vendor::Salesforce => tickets_fakes::salesforce::start_seeded(args.port).await,
    };
    match started {
        Ok((server, info)) => {
            println!("{info}");
            server.wait().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tickets-fake: cannot start: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
