// streamrec dashboard: the player, one <dialog> with a <video controls> element.
//
// A finished recording plays from /api/recordings/play?file=… and a channel that records plays
// live from /api/channels/NAME/play; both answer a fragmented MP4 remuxed on the fly (no
// re-encoding), which the browser plays as it arrives. The video starts muted (browsers allow
// muted autoplay; the sound is one click away on the controls). Closing the dialog drops the
// source, so the daemon's remux of a live channel ends with it.
"use strict";

function openPlayer(title, src, download) {
  const dialog = $("player-dialog");
  const video = $("player");
  $("player-title").textContent = title;
  const link = $("player-download");
  link.hidden = !download;
  if (download) link.href = download;
  $("player-note").textContent = "";
  video.muted = true;
  video.src = src;
  if (!dialog.open) dialog.showModal();
  const started = video.play();
  if (started && started.catch) started.catch(() => { /* the controls still offer play */ });
}

function closePlayer() {
  const video = $("player");
  video.pause();
  video.removeAttribute("src");
  video.load();
}

function setupPlayer() {
  const video = $("player");
  $("player-dialog").addEventListener("close", closePlayer);
  video.addEventListener("error", () => {
    $("player-note").textContent = "This file does not play here: the daemon could not send it, or this browser cannot decode its codec. Download it instead.";
  });
}

function recordingPlayUrl(file) {
  return file.play || `/api/recordings/play?file=${encodeURIComponent(file.file)}`;
}

function recordingDownloadUrl(file) {
  return file.download || `/api/recordings/download?file=${encodeURIComponent(file.file)}`;
}

function livePlayUrl(channel) {
  return `/api/channels/${encodeURIComponent(channel)}/play`;
}
