// Submits the federation auto-POST form (views/federation/post.eta) once the page has loaded.
// A static file, so the page's CSP needs no 'unsafe-inline' and no hash to keep in sync.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('federation-post');
  if (form) form.submit();
});
