//! `wharf --help` grouped as docker's (Common Commands, Management
//! Commands, Commands, Global Options), the `completion` scripts
//! (clap_complete) and the man pages (clap_mangen, `wharf man-pages DIR`).
//! All three are derived from the clap definition, so they cannot miss a
//! verb.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, CompletionArgs, CompletionShell, ManPagesArgs};
use crate::exit::fail;

/// Docker 23+'s "Common Commands", in its order (`search` has no wharf
/// counterpart).
const COMMON: &[&str] = &[
    "run", "exec", "ps", "build", "pull", "push", "images", "login", "logout", "version", "info",
];

/// Cobra's minimum name padding: `{{rpad .Name .NamePadding}}`.
const NAME_PADDING: usize = 11;

/// Whether a verb is a management command: a group of subverbs (those
/// whose arguments are deferred cannot tell yet: named here), or
/// `completion` (a management command in docker's help).
fn is_management(c: &clap::Command) -> bool {
    c.has_subcommands() || matches!(c.get_name(), "completion" | "compose")
}

fn line(out: &mut String, c: &clap::Command) {
    let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
    out.push_str(&format!("  {:<NAME_PADDING$} {about}\n", c.get_name()));
}

/// The top-level help text's template: docker's sections, with clap's own
/// rendering of the global options.
fn template(cmd: &clap::Command) -> String {
    let visible: Vec<&clap::Command> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    let mut common = String::new();
    for name in COMMON {
        if let Some(c) = visible.iter().find(|c| c.get_name() == *name) {
            line(&mut common, c);
        }
    }
    let mut sorted = visible.clone();
    sorted.sort_by_key(|c| c.get_name());
    let (mut management, mut others) = (String::new(), String::new());
    for c in sorted {
        if is_management(c) {
            line(&mut management, c);
        } else if !COMMON.contains(&c.get_name()) {
            line(&mut others, c);
        }
    }
    format!(
        "\nUsage:  {{usage}}\n\n{{about}}\n\nCommon Commands:\n{common}\nManagement Commands:\n{management}\nCommands:\n{others}\nGlobal Options:\n{{options}}\n\nRun 'wharf COMMAND --help' for more information on a command.\n"
    )
}

/// The whole command line, with the grouped top-level help.
pub fn command() -> clap::Command {
    let cmd = Cli::command().override_usage("wharf [OPTIONS] COMMAND");
    let t = template(&cmd);
    cmd.help_template(t)
}

/// Parse the command line, or say why not (usage errors, help) and give
/// the exit code. A request for help is parsed again with the grouped
/// top-level help: only the help path pays for its template.
pub fn parse(args: Vec<OsString>) -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    let e = match Cli::try_parse_from(&args) {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if crate::commands::compose::is_compose(&args) {
        return Err(crate::commands::compose::usage_error(e));
    }
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let mut cmd = command();
            match cmd.try_get_matches_from_mut(args) {
                Err(e) => Err(crate::exit::usage_error(e)),
                Ok(_) => Err(crate::exit::usage_error(e)),
            }
        }
        // `wharf rm`: docker's "requires at least 1 argument" and exit 1.
        ErrorKind::MissingRequiredArgument => match missing_arguments(&args) {
            Some(text) => {
                eprintln!("{text}");
                Err(ExitCode::from(crate::exit::FAILED))
            }
            None => Err(crate::exit::usage_error(e)),
        },
        // A verb missing after global flags (`wharf --root X`, `wharf
        // container -D`): that command's help, as docker prints it.
        ErrorKind::MissingSubcommand => {
            let mut cmd = command();
            let (at, _) = subcommand_of(&mut cmd, &args);
            eprintln!("{}", at.render_help());
            Err(ExitCode::SUCCESS)
        }
        _ => Err(crate::exit::usage_error(e)),
    }
}

/// The (visible) subcommand `args` name, as far as they name one, and
/// its path (`wharf network rm`).
fn subcommand_of<'a>(
    cmd: &'a mut clap::Command,
    args: &[OsString],
) -> (&'a mut clap::Command, String) {
    cmd.build();
    let mut at = cmd;
    let mut path = String::from("wharf");
    for a in args.iter().skip(1).filter_map(|a| a.to_str()) {
        let Some(name) = at
            .find_subcommand(a)
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_string())
        else {
            continue;
        };
        path.push(' ');
        path.push_str(&name);
        at = at.find_subcommand_mut(&name).expect("found above");
    }
    (at, path)
}

/// Docker's text for a verb given too few arguments (`cli.RequiresMinArgs`,
/// `cli.ExactArgs`, `cli.RequiresRangeArgs`), with the verb's usage; `None`
/// when a required option, not an argument, is missing.
fn missing_arguments(args: &[OsString]) -> Option<String> {
    let mut cmd = command();
    let (verb, path) = subcommand_of(&mut cmd, args);
    let (mut min, mut max) = (0usize, Some(0usize));
    for arg in verb.get_positionals() {
        let range = arg.get_num_args().unwrap_or_default();
        if arg.is_required_set() {
            min += range.min_values().max(1);
        }
        let most = range.max_values();
        max = max.and_then(|m| (most != usize::MAX).then(|| m + most.max(1)));
    }
    if min == 0 {
        return None;
    }
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let needs = match max {
        Some(m) if m == min => format!("exactly {min} {}", plural(min)),
        Some(m) => format!("at least {min} and at most {m} {}", plural(m)),
        None => format!("at least {min} {}", plural(min)),
    };
    let usage = verb.render_usage().to_string();
    let usage = usage.trim_end().replacen("Usage: ", "Usage:  ", 1);
    let about = verb
        .get_about()
        .map(|a| format!("\n\n{a}"))
        .unwrap_or_default();
    Some(format!(
        "\"{path}\" requires {needs}.\nSee '{path} --help'.\n\n{usage}{about}"
    ))
}

/// `wharf completion bash|zsh|fish`: the script on stdout.
pub fn completion(a: CompletionArgs) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell;
    let shell = match a.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    // Into memory first: clap_complete panics on a failed write, and a
    // closed pipe must end quietly (exit::report).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "wharf", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// `wharf man-pages DIR`: `wharf.1` and one page per verb and subverb
/// (`wharf-container-ls.1`), for packaging.
pub fn man_pages(a: ManPagesArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| fail(format!("creating {}: {e}", a.dir.display())))?;
    clap_mangen::generate_to(Cli::command(), &a.dir)
        .map_err(|e| fail(format!("writing man pages to {}: {e}", a.dir.display())))?;
    Ok(ExitCode::SUCCESS)
}
