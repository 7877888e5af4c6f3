//! Whole-file parsing into meta ARGs and build stages.

use crate::convert::convert;
use crate::directives::Directives;
use crate::error::ParseError;
use crate::instruction::{ArgDef, Instruction, InstructionKind};
use crate::parser::parse_ast;
use crate::shell_lex::Lexer;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Parser directives from the top of the file.
    pub directives: Directives,
    /// `ARG` instructions before the first `FROM` (usable in `FROM` lines).
    pub meta_args: Vec<Instruction>,
    /// Build stages in file order.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub fn escape(&self) -> char {
        self.directives.escape
    }

    /// A lexer using this file's escape character, for build-time expansion.
    pub fn lexer(&self) -> Lexer {
        Lexer::new(self.directives.escape)
    }

    /// All names defined by the meta `ARG`s, in order.
    pub fn meta_arg_defs(&self) -> impl Iterator<Item = &ArgDef> {
        self.meta_args.iter().flat_map(|i| match &i.kind {
            InstructionKind::Arg(defs) => defs.as_slice(),
            _ => &[],
        })
    }

    /// Finds a stage by name (case-insensitive) or by index (`"0"`, `"1"`).
    pub fn stage(&self, name_or_index: &str) -> Option<&Stage> {
        let lower = name_or_index.to_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
            .or_else(|| {
                name_or_index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.stages.get(i))
            })
    }
}

/// One build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// 0-based position in the file.
    pub index: usize,
    /// `AS` name, lowercased.
    pub name: Option<String>,
    /// Base image or stage reference, raw (may contain `$ARG`s).
    pub base_name: String,
    /// `--platform` value, raw.
    pub platform: Option<String>,
    /// The `FROM` instruction itself.
    pub from: Instruction,
    /// The stage's instructions, `FROM` excluded.
    pub instructions: Vec<Instruction>,
}

/// Parses a Dockerfile.
///
/// Errors are located at the first line of the offending instruction, e.g.
/// `Dockerfile:7: unknown instruction: COPPY (did you mean COPY?)`.
pub fn parse(src: &str) -> Result<Dockerfile, ParseError> {
    let ast = parse_ast(src)?;
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();

    for node in &ast.nodes {
        let instruction = convert(node)?;
        match &instruction.kind {
            InstructionKind::Arg(_) if stages.is_empty() => meta_args.push(instruction),
            InstructionKind::From(from) => stages.push(Stage {
                index: stages.len(),
                name: from.name.clone(),
                base_name: from.image.clone(),
                platform: from.platform.clone(),
                from: instruction.clone(),
                instructions: Vec::new(),
            }),
            _ => match stages.last_mut() {
                Some(stage) => stage.instructions.push(instruction),
                None => {
                    return Err(ParseError::spanning(
                        node.start_line,
                        node.end_line,
                        "no build stage in current context",
                    ))
                }
            },
        }
    }

    Ok(Dockerfile {
        directives: ast.directives,
        meta_args,
        stages,
    })
}

/// Parses instructions without stage structure (each is typed and validated).
pub(crate) fn parse_instructions(src: &str) -> Result<Vec<Instruction>, ParseError> {
    parse_ast(src)?.nodes.iter().map(convert).collect()
}
