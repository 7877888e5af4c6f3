//! Build-time variable expansion of instruction arguments, mirroring which
//! fields BuildKit expands before dispatching an instruction.

use crate::error::LexError;
use crate::instruction::{Instruction, InstructionKind, SourceContent};
use crate::shell_lex::{Env, Lexer, VarRefs};

/// Expands a heredoc body the way BuildKit does for `COPY`/`ADD` inline
/// files: variables and `\` escapes only, quotes are ordinary characters.
pub fn expand_heredoc_content(content: &str, env: Env<'_>) -> Result<(String, VarRefs), LexError> {
    let lexer = Lexer::new('\\').with_skip_process_quotes(true);
    let e = lexer.process_word_with_matches(content, env)?;
    Ok((e.value, e.refs))
}

struct Expander<'a> {
    lexer: &'a Lexer,
    env: Env<'a>,
    refs: VarRefs,
}

impl Expander<'_> {
    fn word(&mut self, word: &mut String) -> Result<(), LexError> {
        let e = self.lexer.process_word_with_matches(word, self.env)?;
        self.refs.merge(&e.refs);
        *word = e.value;
        Ok(())
    }

    fn opt(&mut self, word: &mut Option<String>) -> Result<(), LexError> {
        match word {
            Some(w) => self.word(w),
            None => Ok(()),
        }
    }

    fn all(&mut self, words: &mut [String]) -> Result<(), LexError> {
        words.iter_mut().try_for_each(|w| self.word(w))
    }

    fn contents(&mut self, contents: &mut [SourceContent]) -> Result<(), LexError> {
        for c in contents.iter_mut().filter(|c| c.expand) {
            let (value, refs) = expand_heredoc_content(&c.data, self.env)?;
            self.refs.merge(&refs);
            c.data = value;
        }
        Ok(())
    }
}

impl Instruction {
    /// Returns a copy with variables expanded (quotes removed, escapes
    /// processed) in the fields BuildKit expands, plus the referenced
    /// variable names:
    ///
    /// * `ENV`, `LABEL`: keys and values; `ARG`: names and defaults;
    /// * `WORKDIR`, `USER`, `STOPSIGNAL`, `VOLUME`;
    /// * `COPY`/`ADD`: sources, destination, `--chown`, `--chmod`,
    ///   `--checksum`, and heredoc sources whose terminator was unquoted;
    /// * `EXPOSE`: each spec, split into words;
    /// * `FROM`: image and `--platform` (pass the meta-ARG environment).
    ///
    /// Commands (`RUN`, `CMD`, ...) are left to the shell; `RUN --mount`
    /// values are expanded by [`Mount::parse`](crate::Mount::parse).
    /// `COPY --from` is never expanded (BuildKit rejects variables there).
    pub fn expand(&self, lexer: &Lexer, env: Env<'_>) -> Result<(Instruction, VarRefs), LexError> {
        let mut out = self.clone();
        let mut x = Expander {
            lexer,
            env,
            refs: VarRefs::default(),
        };
        match &mut out.kind {
            InstructionKind::Env(kvs) | InstructionKind::Label(kvs) => {
                for kv in kvs {
                    x.word(&mut kv.key)?;
                    x.word(&mut kv.value)?;
                }
            }
            InstructionKind::Arg(defs) => {
                for def in defs {
                    x.word(&mut def.name)?;
                    x.opt(&mut def.default)?;
                }
            }
            InstructionKind::Workdir(w)
            | InstructionKind::User(w)
            | InstructionKind::StopSignal(w) => x.word(w)?,
            InstructionKind::Volume(v) => x.all(v)?,
            InstructionKind::Copy(c) => {
                x.opt(&mut c.chown)?;
                x.opt(&mut c.chmod)?;
                x.all(&mut c.sources)?;
                x.word(&mut c.dest)?;
                x.contents(&mut c.contents)?;
            }
            InstructionKind::Add(a) => {
                x.opt(&mut a.chown)?;
                x.opt(&mut a.chmod)?;
                x.opt(&mut a.checksum)?;
                x.all(&mut a.sources)?;
                x.word(&mut a.dest)?;
                x.contents(&mut a.contents)?;
            }
            InstructionKind::Expose(ports) => {
                let mut expanded = Vec::new();
                for port in ports.iter() {
                    expanded.extend(lexer.process_words(port, env)?);
                    let refs = lexer.process_word_with_matches(port, env)?.refs;
                    x.refs.merge(&refs);
                }
                *ports = expanded;
            }
            InstructionKind::From(f) => {
                x.word(&mut f.image)?;
                x.opt(&mut f.platform)?;
            }
            InstructionKind::Run(_)
            | InstructionKind::Cmd(_)
            | InstructionKind::Entrypoint(_)
            | InstructionKind::Shell(_)
            | InstructionKind::Healthcheck(_)
            | InstructionKind::OnBuild(_)
            | InstructionKind::Maintainer(_) => {}
        }
        Ok((out, x.refs))
    }
}
