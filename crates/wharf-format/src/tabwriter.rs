//! A port of Go's `text/tabwriter` (the elastic tabstops docker aligns its
//! tables with).
//!
//! Text is made of cells: a cell is terminated by a tab (`\t`, or `\v` for a
//! "soft" cell). The text after the last tab of a line is not a cell and is
//! never padded. A *column block* is a run of consecutive lines that all have
//! a cell in that column; within a block every cell is padded to the widest
//! cell plus `padding`, and to at least `minwidth`. Widths count Unicode
//! scalar values, like Go counts runes. A form feed (`\f`) ends a line and
//! also a section: columns never align across it.

use std::io::{self, Write};

/// Configuration of a tab writer (Go's `tabwriter.NewWriter` arguments, with
/// `flags == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabWriter {
    /// Minimal cell width including any padding.
    pub minwidth: usize,
    /// Width of a tab character; only used when `padchar` is `'\t'`.
    pub tabwidth: usize,
    /// Padding added to a cell before computing its width.
    pub padding: usize,
    /// Character used for padding; `'\t'` means "pad with tabs".
    pub padchar: char,
}

impl TabWriter {
    /// The writer every docker table uses:
    /// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
    pub const fn docker() -> TabWriter {
        TabWriter {
            minwidth: 10,
            tabwidth: 1,
            padding: 3,
            padchar: ' ',
        }
    }

    /// Aligns `text` and returns the result (what Go's writer emits after
    /// `Write(text)` followed by `Flush()`).
    pub fn format(&self, text: &str) -> String {
        let mut out = Vec::with_capacity(text.len() + text.len() / 2);
        // Writing to a Vec cannot fail, and text over 4 GiB is not a table.
        if self.write_to(text, &mut out).is_err() {
            return text.to_string();
        }
        crate::output::into_string(out)
    }

    /// Aligns `text` into `out`. The padding is written as it is computed:
    /// a wide cell in a long column block makes a lot of output but takes
    /// no memory. The cells are indexed compactly (12 bytes a cell, 4 a
    /// line), so `text` may not exceed 4 GiB (`InvalidInput`).
    pub fn write_to(&self, text: &str, out: &mut dyn Write) -> io::Result<()> {
        if u32::try_from(text.len()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "text too long to align",
            ));
        }
        let mut sections = text.split('\u{c}').peekable();
        let mut offset = 0;
        while let Some(section) = sections.next() {
            let lines = Lines::split(offset, section);
            offset += section.len() + 1;
            let mut fmt = Formatter {
                cfg: self,
                text,
                lines: &lines,
                widths: Vec::new(),
                out: &mut *out,
            };
            fmt.format(0, lines.len())?;
            if sections.peek().is_some() {
                // The form feed terminated the section's last line.
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }
}

impl Default for TabWriter {
    fn default() -> Self {
        TabWriter::docker()
    }
}

/// One cell: where its text is (byte offsets into the whole text) and its
/// width in characters. (Go also records whether a cell was tab- or
/// `\v`-terminated, which only matters for flags docker does not use.)
struct Cell {
    start: u32,
    end: u32,
    width: u32,
}

/// The cells of a section's lines, flat: line `i` is
/// `cells[starts[i]..starts[i + 1]]`.
struct Lines {
    cells: Vec<Cell>,
    starts: Vec<u32>,
}

impl Lines {
    /// `section` starts at byte `offset` of the whole text (checked to
    /// fit in u32).
    fn split(offset: usize, section: &str) -> Lines {
        let mut lines = Lines {
            cells: Vec::new(),
            starts: vec![0],
        };
        let mut line_start = offset;
        for line in section.split('\n') {
            let mut start = line_start;
            for cell in line.split(['\t', '\u{b}']) {
                lines.cells.push(Cell {
                    start: start as u32,
                    end: (start + cell.len()) as u32,
                    width: cell.chars().count() as u32,
                });
                start += cell.len() + 1;
            }
            lines.starts.push(lines.cells.len() as u32);
            line_start += line.len() + 1;
        }
        lines
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn line(&self, i: usize) -> &[Cell] {
        &self.cells[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}

struct Formatter<'c, 'l, 'o> {
    cfg: &'c TabWriter,
    text: &'l str,
    lines: &'l Lines,
    /// Widths of the columns to the left of the one being formatted.
    widths: Vec<usize>,
    out: &'o mut dyn Write,
}

impl Formatter<'_, '_, '_> {
    /// Go's `Writer.format`: formats lines `line0..line1`, recursing into
    /// column blocks. Output goes to `self.out`.
    fn format(&mut self, mut line0: usize, line1: usize) -> io::Result<()> {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            // A cell exists in this column if the line has more than
            // `column + 1` cells (the last one is the trailing text).
            if column + 1 >= self.lines.line(this).len() {
                this += 1;
                continue;
            }
            // Print unprinted lines until the beginning of the block.
            self.write_lines(line0, this)?;
            line0 = this;

            // Column block: all following lines with a cell in this column.
            let mut width = self.cfg.minwidth;
            while this < line1 {
                let line = self.lines.line(this);
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(line[column].width as usize + self.cfg.padding);
                this += 1;
            }

            // Format and print all columns to the right of this one.
            self.widths.push(width);
            self.format(line0, this)?;
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1)
    }

    fn write_lines(&mut self, line0: usize, line1: usize) -> io::Result<()> {
        for i in line0..line1 {
            let line = self.lines.line(i);
            for (j, cell) in line.iter().enumerate() {
                let text = &self.text[cell.start as usize..cell.end as usize];
                self.out.write_all(text.as_bytes())?;
                if j + 1 < line.len() && j < self.widths.len() {
                    self.write_padding(cell.width as usize, self.widths[j])?;
                }
            }
            if i + 1 < self.lines.len() {
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn write_padding(&mut self, textw: usize, cellw: usize) -> io::Result<()> {
        if self.cfg.padchar == '\t' {
            let tw = self.cfg.tabwidth;
            if tw == 0 {
                return Ok(());
            }
            let cellw = cellw.div_ceil(tw) * tw;
            let n = cellw.saturating_sub(textw);
            return self.repeat('\t', n.div_ceil(tw));
        }
        let n = cellw.saturating_sub(textw);
        self.repeat(self.cfg.padchar, n)
    }

    /// `n` copies of `c`, written in chunks.
    fn repeat(&mut self, c: char, n: usize) -> io::Result<()> {
        let mut utf8 = [0u8; 4];
        let c = c.encode_utf8(&mut utf8).as_bytes();
        let chunk: Vec<u8> = c.repeat(n.min(4096));
        let mut left = n;
        while left > 0 {
            let k = left.min(4096);
            self.out.write_all(&chunk[..k * c.len()])?;
            left -= k;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(s: &str) -> String {
        TabWriter::docker().format(s)
    }

    #[test]
    fn docker_images_table() {
        let input = "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n\
                     busybox\tlocal\t0d3b1f5d8b6a\t2 minutes ago\t2.03MB\n";
        assert_eq!(
            docker(input),
            "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n\
             busybox      local     0d3b1f5d8b6a   2 minutes ago   2.03MB\n"
        );
    }

    #[test]
    fn uneven_widths_and_long_cells() {
        let input = "a\tbb\tccc\n\
                     a-very-long-cell-value\tb\tc\n\
                     x\ty\n";
        assert_eq!(
            docker(input),
            "a                        bb        ccc\n\
             a-very-long-cell-value   b         c\n\
             x                        y\n"
        );
    }

    #[test]
    fn blocks_end_at_lines_without_the_column() {
        // The third line has no cell in column 1, so the block of column 1
        // (lines 1-2) is separate from the one on line 4.
        let input = "a\tb\tc\n\
                     a\tbbbbbbbbbbbbbbb\tc\n\
                     only-one-cell\tz\n\
                     a\tb\tc\n";
        assert_eq!(
            docker(input),
            "a               b                 c\n\
             a               bbbbbbbbbbbbbbb   c\n\
             only-one-cell   z\n\
             a               b         c\n"
        );
    }

    #[test]
    fn lines_without_tabs_break_blocks() {
        let input = "ab\tc\nplain text line\nabcdefghijklmn\td\n";
        assert_eq!(
            docker(input),
            "ab        c\nplain text line\nabcdefghijklmn   d\n"
        );
    }

    #[test]
    fn unicode_widths_count_characters() {
        let input = "héllo\tx\nab\ty\n";
        assert_eq!(docker(input), "héllo     x\nab        y\n");
    }

    #[test]
    fn empty_cells_are_padded() {
        let input = "\tx\nabc\ty\n";
        assert_eq!(docker(input), "          x\nabc       y\n");
    }

    #[test]
    fn missing_final_newline_and_trailing_tab() {
        assert_eq!(docker("a\tb"), "a         b");
        assert_eq!(docker("a\t\n"), "a         \n");
        assert_eq!(docker(""), "");
    }

    #[test]
    fn form_feed_separates_sections() {
        let input = "a\tb\n\u{c}abcdefghijkl\tc\n";
        assert_eq!(docker(input), "a         b\n\nabcdefghijkl   c\n");
    }

    #[test]
    fn custom_configuration() {
        let w = TabWriter {
            minwidth: 0,
            tabwidth: 8,
            padding: 1,
            padchar: '.',
        };
        assert_eq!(w.format("a\tb\nccc\td\n"), "a...b\nccc.d\n");
        let tabs = TabWriter {
            minwidth: 0,
            tabwidth: 8,
            padding: 1,
            padchar: '\t',
        };
        assert_eq!(
            tabs.format("a\tb\nccccccccc\td\n"),
            "a\t\tb\nccccccccc\td\n"
        );
    }
}
