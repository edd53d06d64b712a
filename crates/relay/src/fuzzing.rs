//! Entry points for the fuzz targets (`crates/fuzz`) and their corpus replay test: what a
//! WebSocket client sends, parsed without panicking whatever the bytes. Not API.

/// A client frame header, then the payload unmasked as the pumps do.
pub fn frame_header(data: &[u8]) {
    if let Ok(Some((header, used))) = crate::frame::parse_client_header(data) {
        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
        let end = data.len().min(used.saturating_add(len));
        let mut payload = data[used.min(end)..end].to_vec();
        crate::frame::unmask(&mut payload, header.mask, 0);
    }
}
