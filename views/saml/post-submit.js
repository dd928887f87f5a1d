// Submits the SAML auto-POST form once the page has loaded (views/saml/post.eta). Served as a
// static file so the page's CSP needs no 'unsafe-inline' (security-bar §6 case 34).
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('saml-post');
  if (form) form.submit();
});
