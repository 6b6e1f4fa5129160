"""The HTML report of evaluated runs and of studies: the HTML kit (`html`), a run's section (`run`, `data`),
a study's section (`study`) and the page (`page`). It reads run and study directories; it never evaluates."""

from nuclass.report.page import comparison_table, write_report
from nuclass.report.run import run_section
from nuclass.report.study import study_section

__all__ = ["write_report", "run_section", "comparison_table", "study_section"]
