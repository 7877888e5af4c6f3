//! Single-instruction parsing: `docker commit/import --change` lines and
//! `ONBUILD` triggers stored in image configs.

use crate::convert::convert;
use crate::dockerfile::parse_instructions;
use crate::error::ParseError;
use crate::instruction::Instruction;
use crate::parser::parse_ast;

/// Instructions allowed in `--change`.
const CHANGE_COMMANDS: &[&str] = &[
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "healthcheck",
    "label",
    "onbuild",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Parses `--change` values like the daemon: joined with newlines and parsed
/// as a Dockerfile fragment; every instruction must be one of CMD,
/// ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
/// VOLUME, WORKDIR (else `<INSTR> is not a valid change command`).
pub fn parse_changes<S: AsRef<str>>(changes: &[S]) -> Result<Vec<Instruction>, ParseError> {
    let src = changes
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join("\n");
    let ast = parse_ast(&src)?;
    if let Some(bad) = ast
        .nodes
        .iter()
        .find(|n| !CHANGE_COMMANDS.contains(&n.lower_keyword().as_str()))
    {
        return Err(ParseError::general(format!(
            "{} is not a valid change command",
            bad.keyword
        )));
    }
    ast.nodes.iter().map(convert).collect()
}

/// Parses one `--change` line (see [`parse_changes`]); it must hold exactly
/// one instruction.
pub fn parse_change(line: &str) -> Result<Instruction, ParseError> {
    let mut instructions = parse_changes(&[line])?;
    if instructions.len() != 1 {
        return Err(ParseError::general(format!(
            "expected exactly one instruction in change {line:?}, found {}",
            instructions.len()
        )));
    }
    Ok(instructions.remove(0))
}

/// Parses an `ONBUILD` trigger expression (as stored in an image config)
/// into the instruction(s) to run in the child build.
pub fn parse_trigger(expression: &str) -> Result<Vec<Instruction>, ParseError> {
    parse_instructions(expression)
}
