//! Sorting a table by any column: a click on a heading sorts by it, a second click the other
//! way, a third goes back to the list's own order (the order the lane gives: STAT first, room
//! and time…). The sort is stable over that order, so the same rows always come out in the
//! same order and reading the list again after an action never moves a row.

/// Which column a table is sorted by and whether upwards; `None`: the list's own order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableSort(pub Option<(usize, bool)>);

impl TableSort {
    /// The headings as buttons with the sort arrow; a click changes the sort (returns true).
    pub fn header(&mut self, header: &mut egui_extras::TableRow<'_, '_>, titles: &[&str]) -> bool {
        let mut clicked = None;
        for (column, title) in titles.iter().enumerate() {
            header.col(|ui| {
                let arrow = match self.0 {
                    Some((c, true)) if c == column => " ^",
                    Some((c, false)) if c == column => " v",
                    _ => "",
                };
                let text = egui::RichText::new(format!("{title}{arrow}")).strong();
                if ui
                    .add(egui::Button::new(text).frame(false))
                    .on_hover_text(format!("sort by {}", title.to_lowercase()))
                    .clicked()
                {
                    clicked = Some(column);
                }
            });
        }
        let Some(column) = clicked else {
            return false;
        };
        self.0 = match self.0 {
            Some((c, true)) if c == column => Some((c, false)),
            Some((c, false)) if c == column => None,
            _ => Some((column, true)),
        };
        true
    }

    /// Sorts `rows` (in the list's own order) by the chosen column's `key`, stably.
    pub fn apply<T>(&self, rows: &mut [T], key: impl Fn(&T, usize) -> String) {
        if let Some((column, ascending)) = self.0 {
            rows.sort_by(|a, b| {
                let order = key(a, column).cmp(&key(b, column));
                if ascending { order } else { order.reverse() }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_is_stable_over_the_lists_own_order_and_reverses() {
        let own = vec![("b", 1), ("a", 2), ("b", 3), ("a", 4)];
        let key = |r: &(&str, i32), _: usize| r.0.to_string();
        let mut rows = own.clone();
        TableSort(Some((0, true))).apply(&mut rows, key);
        assert_eq!(rows, vec![("a", 2), ("a", 4), ("b", 1), ("b", 3)]);
        let mut rows = own.clone();
        TableSort(Some((0, false))).apply(&mut rows, key);
        assert_eq!(rows, vec![("b", 1), ("b", 3), ("a", 2), ("a", 4)]);
        let mut rows = own.clone();
        TableSort(None).apply(&mut rows, key);
        assert_eq!(rows, own);
    }
}
