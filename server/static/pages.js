// Shows the scheduling page in the visitor's own time zone. The page works without this script
// (times then show in the business time zone, and the picker changes them).
(function () {
  "use strict";
  var picker = document.getElementById("tz");
  if (!picker || picker.getAttribute("data-chosen") === "yes" || !picker.form) {
    return;
  }
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || zone === picker.value) {
    return;
  }
  for (var i = 0; i < picker.options.length; i += 1) {
    if (picker.options[i].value === zone) {
      picker.value = zone;
      picker.form.submit();
      return;
    }
  }
})();
